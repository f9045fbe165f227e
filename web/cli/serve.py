"""``irpm serve`` — the web app on Flask's development server, with the scheduler inside it
(the one command that builds the web app; the others only call engine services)."""

from __future__ import annotations

import click

from scheduler import start_embedded

from .. import create_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
def serve(host: str, port: int) -> None:
    """Run the web app with Flask's development server (threaded), and the scheduler inside
    it unless IRPM_SCHEDULER=off (then run `irpm scheduler`)."""
    app = create_app()
    start_embedded(app.extensions["irpm"])
    app.run(host=host, port=port, threaded=True)
