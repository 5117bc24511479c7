"""The real app in a real browser: the Streamlit server on a free port, driven by Playwright with Debian's Chromium.

Needs ``apt-get install -y chromium`` (the tests are skipped without /usr/bin/chromium). Screenshots go to
``test-artifacts/``. The Live page's test, with Chromium's fake camera, is in test_browser_live.py; the Analyze
page's tests are in test_browser_analyze.py; the Learn, Age stages and Model card pages' in test_browser_pages.py.
"""
