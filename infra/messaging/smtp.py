"""The email port's SMTP adapter (`consumers.ports.EmailPort`): any SMTP relay.

The Message-ID is derived from the event's CloudEvents id, so a notice sent twice (a
crash between sending and recording) carries the same id and mail systems can fold the
copies; the notifier records each delivery in the ledger so it is not sent again.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from consumers.ports import Email


class SmtpEmail:
    """Any SMTP relay (a local MTA, a provider's submission port)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        timeout: float = 10.0,
        starttls: bool = False,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.timeout, self.starttls, self.login = timeout, starttls, login

    def send(self, email: Email) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Message-ID"] = email.message_id
        message.set_content(email.body)
        for attachment in email.attachments:
            maintype, _, subtype = attachment.media_type.partition("/")
            message.add_attachment(
                attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
            )
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.login is not None:
                smtp.login(*self.login)
            smtp.send_message(message)
