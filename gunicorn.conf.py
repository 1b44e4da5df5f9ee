"""Read by gunicorn from the working folder: `gunicorn 'spucsvi:create_app()'`."""

from spucsvi.server.gunicorn_settings import *  # noqa: F403
