"""What people ask through Discord and how the answers were rated: recorded off the event loop into
a SQL database (SQLite by default, PostgreSQL for several processes), and reported to the bot's
admins. Never imports discord; `index` never imports this."""
