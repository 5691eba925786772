"""Learning Rate Lab: the one entry point. It only routes to the pages.

Page files are named ``*_page.py`` on purpose: Streamlit 1.67 falls back to its
old pages/-folder navigation when a URL path equals a file name in pages/.
"""

import streamlit as st

st.set_page_config(page_title="Learning Rate Lab", page_icon="📉", layout="wide")
st.navigation([
    st.Page("pages/home_page.py", title="Home", icon="🏠", default=True),
    st.Page("pages/playground_page.py", title="Playground", icon="🎛️", url_path="playground"),
]).run()
