"""Read by gunicorn from the working folder: `gunicorn 'spucsvi:create_app()'`."""

from spucsvi.gunicorn_conf import *  # noqa: F403
