"""Home: what the app teaches, and a link to each page."""

import streamlit as st

st.title("Learning Rate Lab")
st.markdown(
    "The learning rate decides how far each step of gradient descent moves: too small and "
    "training crawls or settles in the nearest dip, too large and it overshoots, oscillates or "
    "blows up. Here you change the rate yourself and watch each of those happen on real runs."
)
st.page_link("app_pages/playground.py", label="Playground: pick a surface and up to four rates, "
             "and watch gradient descent run", icon=":material/tune:")
