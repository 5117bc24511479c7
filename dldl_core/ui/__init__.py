"""Helpers of the Streamlit app: drawing, plots, tracking, the live loop, teaching, cards."""
