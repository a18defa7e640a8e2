"""An SMTP server that takes every message and keeps none: the benchmarks' far end.

    python bench/smtp_discard.py --port 2600

It runs in a process of its own, so the client's figures include a real
network hop and none of the server's CPU.
"""

import argparse
import asyncio

from aiosmtpd.smtp import SMTP, Envelope, Session


class Discard:
    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        return "250 2.0.0 taken"


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Discard(), hostname="bench-discard", data_size_limit=10_000_000),
        host=host,
        port=port,
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
