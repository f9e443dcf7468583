"""API: the read API's OpenAPI document, rendered (``api.py``)."""

from __future__ import annotations

import streamlit as st

from api import openapi_document
from config import get_settings

settings = get_settings()
document = openapi_document()
st.title("Read API")
if settings.api_token.get_secret_value():
    st.success("The API is on: send `Authorization: Bearer <API_TOKEN>` with every request.")
else:
    st.info("The API is off: set API_TOKEN on the server to turn it on.")
st.markdown(document["info"]["description"])
st.code(
    "curl -H 'Authorization: Bearer <API_TOKEN>' "
    "'http://127.0.0.1:8501/api/v1/signals?type=ACCUMULATION&limit=50'",
    language="bash",
)
for path, methods in document["paths"].items():
    for method, operation in methods.items():
        with st.expander(f"{method.upper()} {path}: {operation['summary']}"):
            parameters = operation.get("parameters", [])
            if parameters:
                st.dataframe(
                    [
                        {
                            "parameter": p["name"],
                            "type": p["schema"].get("type", ""),
                            "about": p["description"],
                        }
                        for p in parameters
                    ],
                    hide_index=True,
                )
            st.markdown(
                " · ".join(
                    f"**{code}** {answer['description']}"
                    for code, answer in operation["responses"].items()
                )
            )
st.caption("The machine-readable document: GET /api/v1/openapi.json (with the token).")
with st.expander("OpenAPI document"):
    st.json(document, expanded=False)
