import time
import pytest
from funnel.demo import ensure_demo_users

@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_probe(open_tab, fast_passwords):
    ensure_demo_users()
    for i in range(2):
        tab = open_tab()
        t = time.time()
        tab.goto("/accounts/login/")
        print("login page", time.time() - t)
        t = time.time()
        tab.log_in("marketing", "demo-marketing-2026")
        print("login+dash", time.time() - t)
        print(tab.page.evaluate("() => JSON.stringify(performance.getEntriesByType('resource').map(e => [e.name.slice(-30), Math.round(e.duration)]))"))
        print(tab.page.evaluate("() => JSON.stringify(performance.getEntriesByType('navigation').map(e => [Math.round(e.responseEnd), Math.round(e.domContentLoadedEventEnd), Math.round(e.loadEventEnd)]))"))
