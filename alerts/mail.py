"""E-mail alerts over SMTP (the standard library's ``smtplib``): a UTF-8 text/plain message whose
subject is the alert's title, sent after STARTTLS (port 587) or over implicit TLS (465); the
server's certificate is verified (the system's CAs, plus ``ca_file`` for a private CA). Plain SMTP
("none") is for a server on this machine only (``AlertSettings`` refuses it elsewhere).

A refused login is permanent (the settings are wrong: every e-mail target fails until an admin
fixes them), as are a refused recipient, a server that offers no STARTTLS or no login and a
certificate that does not verify; a connection that fails or times out, and the server's 4xx
answers, are temporary.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

from alerts.base import AlertFailed
from alerts.message import AlertMessage

Security = Literal["starttls", "tls", "none"]


class EmailChannel:
    """Sends the alert to the target's e-mail address."""

    name = "email"

    def __init__(self, *, host: str, port: int = 587, sender: str, username: str = "",
                 password: str = "", security: Security = "starttls", timeout: float = 5.0,
                 ssl_context: ssl.SSLContext | None = None, ca_file: str = ""):
        self.host, self.port, self.sender = host, port, sender
        self.username, self._password = username, password
        self.security = security
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context(cafile=ca_file or None)
        if ca_file and ssl_context is None:  # a private CA beside the system's
            self.ssl_context.load_default_certs()

    def __repr__(self) -> str:  # never the password
        return f"EmailChannel({self.host}:{self.port}, {self.security}, from={self.sender})"

    def send(self, address: str, message: AlertMessage) -> None:
        mail = self._mail(address, message)
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self._password)
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise AlertFailed(f"SMTP 登录失败（{exc.smtp_code}）：请管理员核对邮件服务器的用户名和密码"
                              "（有的邮箱要用“授权码”而不是登录密码）", permanent=True, code=exc.smtp_code) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise AlertFailed(f"邮件服务器不支持所需的功能（{_first_line(exc)}）：请核对端口和加密方式",
                              permanent=True) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = all(code >= 500 for code in codes)
            raise AlertFailed("邮件服务器拒绝了这个收件地址" + ("，请核对" if permanent else "，稍后重试"),
                              permanent=permanent, code=codes[0] if codes else None) from exc
        except smtplib.SMTPResponseException as exc:  # the sender refused, the data refused, …
            permanent = exc.smtp_code >= 500
            raise AlertFailed(f"邮件服务器拒绝了这封邮件（{exc.smtp_code}）" + ("，请管理员检查发件设置" if permanent
                                                                          else "，稍后重试"),
                              permanent=permanent, code=exc.smtp_code) from exc
        except ssl.SSLCertVerificationError as exc:
            raise AlertFailed("邮件服务器的证书校验失败：请核对服务器地址，或配置它的 CA 证书",
                              permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, unreachable, timed out, TLS failed
            raise AlertFailed(f"连接不上邮件服务器（{type(exc).__name__}），稍后重试") from exc

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.ssl_context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            try:
                smtp.starttls(context=self.ssl_context)
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _mail(self, address: str, message: AlertMessage) -> EmailMessage:
        mail = EmailMessage()
        try:
            mail["Subject"] = message.title()
            mail["From"] = self.sender
            mail["To"] = address.strip()
        except ValueError as exc:  # a line break in an address: never a header of ours
            raise AlertFailed("邮件地址格式不对", permanent=True) from exc
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        mail.set_content(message.text(), charset="utf-8")
        return mail


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
