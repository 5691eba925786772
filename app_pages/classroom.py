"""Classroom: start a class (join code, link, QR) or join one by its code."""

import streamlit as st

st.title("Classroom")
st.info("Live classes are coming: start a class here and students join by code.")
