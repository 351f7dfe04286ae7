"""The old name of paddle_gan.download: `python -m paddle_gan.fetch mnist` still works, as do old notebooks'
`fetch.fetch_missing(config)`."""
import sys

from .download import fetch_missing, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
