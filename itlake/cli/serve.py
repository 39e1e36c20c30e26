"""`itlake serve`: the portal, the release downloads and the Delta Sharing endpoint on localhost."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()


def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8765, help="port to listen on"),
) -> None:
    """Serve {lake}/open (portal at /portal/, releases at /releases/), the DCAT catalogue at
    /catalog.jsonld and /catalog.ttl, and Delta Sharing at /delta-sharing."""
    import uvicorn

    from itlake.lake.root import default_lake
    from itlake.sharing.recipients import recipients_path
    from itlake.sharing.server import create_app

    app = create_app()
    console.print(
        f"Portal:        http://{host}:{port}/portal/\n"
        f"DCAT:          http://{host}:{port}/catalog.jsonld  and  /catalog.ttl\n"
        f"Delta Sharing: http://{host}:{port}/delta-sharing  (recipients: {recipients_path()})\n"
        f"Lake:          {default_lake().root}"
    )
    uvicorn.run(app, host=host, port=port, log_level="info")
