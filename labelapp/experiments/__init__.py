"""Experiments as code: the experiment file's shape (`schema`), read without touching the database;
`labelapp.services.experiments` plans and applies it."""
