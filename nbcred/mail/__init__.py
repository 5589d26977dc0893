"""Outgoing e-mail: a durable outbox written in the caller's transaction, and its SMTP sender."""

from nbcred.mail.errors import MailError, SmtpSettingsError
from nbcred.mail.outbox import NOTIFICATIONS, Outgoing, enqueue, render
from nbcred.mail.sender import Sender, SenderThread, SendReport

__all__ = ["NOTIFICATIONS", "MailError", "Outgoing", "SendReport", "Sender", "SenderThread",
           "SmtpSettingsError", "enqueue", "render"]
