"""DLDL-v2 age estimation: the Streamlit app's entry; one file per page in ``views/``. Start it from the project root:

    streamlit run app/main.py --server.address 127.0.0.1 --server.headless true --browser.gatherUsageStats false

(The folder is not called ``pages/``: Streamlit would then build its own navigation from it and bypass this one.)
"""
import os
from pathlib import Path

# Idle OpenMP threads sleep instead of spinning (set before torch loads): the network shares a small CPU with the
# server and the video codecs, and spinning threads were measured to slow the live frame loop from 36 to 2 fps.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st

# The tab icon is a local file: a material icon as page_icon makes the browser fetch it from a font host.
st.set_page_config(page_title="DLDL-v2 age estimation", page_icon=str(Path(__file__).with_name("icon.png")),
                   layout="wide")
pages = [
    st.Page("views/live.py", title="Live", icon=":material/videocam:", default=True),
    st.Page("views/analyze.py", title="Analyze", icon=":material/image_search:"),
    st.Page("views/age_stages.py", title="Age stages", icon=":material/timeline:"),
    st.Page("views/learn.py", title="Learn", icon=":material/school:"),
    st.Page("views/model_card.py", title="Model card", icon=":material/description:"),
]
page = st.navigation(pages)  # drawn first: the navigation shows at once

from resources import show_device, sidebar, start_warm_up  # noqa: E402 - after the navigation

start_warm_up()
device_line = sidebar()
page.run()
show_device(device_line)  # a page that stops early keeps the line sidebar() wrote
