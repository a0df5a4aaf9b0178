# Benchmarks read content files outside an app, as the test suite does (tests/conftest.py):
# the content kinds (folders and their validators) are registered by create_app, so register
# them here for the code that loads content before building an app.
from academy import register_content_kinds

register_content_kinds()
