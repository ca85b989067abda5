"""``python -m iss_client.devserver``: run the ISS stand-in on loopback until interrupted."""

from __future__ import annotations

import argparse

from jobprobe.iss_client.devserver.server import DevServer


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve on 127.0.0.1."""
    parser = argparse.ArgumentParser(description="Local Intel Simulation Service stand-in.")
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any)")
    parser.add_argument("--speed", type=float, default=1.0, help="job progress speed factor")
    parser.add_argument("--step-s", type=float, default=10.0, help="seconds per status at speed 1")
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="token lifetime, seconds")
    parser.add_argument("--client-id", default="dev-client", help="accepted OAuth2 client id")
    parser.add_argument("--client-secret", default="dev-secret", help="accepted client secret")
    args = parser.parse_args(argv)
    server = DevServer(
        args.port,
        speed=args.speed,
        step_s=args.step_s,
        token_ttl=args.token_ttl,
        client_id=args.client_id,
        client_secret=args.client_secret,
    )
    print(f"ISS stand-in on {server.url}  (API {server.url}/v1, files {server.url}/fs/files,")
    print(f"token {server.token_url}, client id {server.client_id!r})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
