from virtualize.cli import app

app()
