"""Replace the README's configuration table with ``python config.py --markdown``'s."""

from pathlib import Path

from config import markdown_table

readme = Path(__file__).resolve().parent.parent / "README.md"
lines = readme.read_text().splitlines(keepends=True)
header = "| variable | default | meaning |"
start = next(i for i, line in enumerate(lines) if line.startswith(header))
end = start
while end < len(lines) and lines[end].startswith("|"):
    end += 1
readme.write_text("".join(lines[:start]) + markdown_table() + "".join(lines[end:]))
