"""An aiosmtpd server that requires STARTTLS and AUTH, for the mail tests.

aiosmtpd's own command line (python3 -m aiosmtpd) cannot require
authentication, so this runs the same server class with an authenticator.
Messages are saved by aiosmtpd's Mailbox handler into a Maildir, as with
`python3 -m aiosmtpd -c aiosmtpd.handlers.Mailbox DIR`.

usage: python3 smtpd_auth.py HOST PORT MAILDIR CERTFILE KEYFILE USER PASSWORD
"""

import asyncio
import ssl
import sys

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main():
    host, port, maildir, certfile, keyfile, user, password = sys.argv[1:]
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certfile, keyfile)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False)

    handler = Mailbox(maildir)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        return SMTP(handler, tls_context=tls, require_starttls=True,
                    auth_required=True, auth_require_tls=True,
                    authenticator=authenticator, loop=loop)

    server = loop.run_until_complete(loop.create_server(factory, host, int(port)))
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
