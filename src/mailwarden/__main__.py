from mailwarden.cli.main import app

app()
