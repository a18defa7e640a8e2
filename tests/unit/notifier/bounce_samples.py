"""Bounce reports as real servers write them, written for these tests."""

CONTACT = "5a0f3d4e-0c1b-5d8e-9a51-2f7c1d0e6b42"


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


POSTFIX_USER_UNKNOWN = crlf(f"""\
Return-Path: <>
Received: by mx.acme.test (Postfix) id 4Tq9Zk1BQ3z9sW; Mon,  5 Jan 2026 10:12:03 +0100
Date: Mon,  5 Jan 2026 10:12:03 +0100 (CET)
From: MAILER-DAEMON@mx.acme.test (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: bounces+{CONTACT}@acme.test
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4Tq9Zk1BQ3z9sW.1767604323/mx.acme.test"
Message-Id: <20260105091203.4Tq9Zk1BQ3z9sW@mx.acme.test>

This is a MIME-encapsulated message.

--4Tq9Zk1BQ3z9sW.1767604323/mx.acme.test
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.acme.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<jane.debtor@example.test>: host mx.example.test[192.0.2.7] said: 550 5.1.1
    <jane.debtor@example.test>: Recipient address rejected: User unknown in
    virtual mailbox table (in reply to RCPT TO command)

--4Tq9Zk1BQ3z9sW.1767604323/mx.acme.test
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.acme.test
X-Postfix-Queue-ID: 4Tq9Zk1BQ3z9sW
X-Postfix-Sender: rfc822; bounces+{CONTACT}@acme.test
Arrival-Date: Mon,  5 Jan 2026 10:12:01 +0100 (CET)

Final-Recipient: rfc822; jane.debtor@example.test
Original-Recipient: rfc822;jane.debtor@example.test
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.test
Diagnostic-Code: smtp; 550 5.1.1 <jane.debtor@example.test>: Recipient address
    rejected: User unknown in virtual mailbox table

--4Tq9Zk1BQ3z9sW.1767604323/mx.acme.test
Content-Description: Undelivered Message
Content-Type: message/rfc822

Return-Path: <bounces+{CONTACT}@acme.test>
From: Acme Collections <collections@acme.test>
To: Jane Debtor <jane.debtor@example.test>
Subject: Reminder: invoice RE-1 is overdue
Message-ID: <{CONTACT}@acme.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Please pay invoice RE-1.

--4Tq9Zk1BQ3z9sW.1767604323/mx.acme.test--
""")

EXCHANGE_HEADERS_ONLY = crlf(f"""\
From: postmaster@example.test
To: <bounces@acme.test>
Date: Mon, 5 Jan 2026 09:12:03 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="_000_EXCH01_"
Content-Language: en-US
Message-ID: <0e7b1f2a-77a1-4b9e-9c55-1f1a2b3c4d5e@EXCH01.example.test>
Subject: Undeliverable: Reminder: invoice RE-1 is overdue
Auto-Submitted: auto-replied

--_000_EXCH01_
Content-Type: multipart/alternative; boundary="_001_EXCH01_"

--_001_EXCH01_
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or groups:

jane.debtor@example.test
The email address you entered couldn't be found.

--_001_EXCH01_
Content-Type: text/html; charset="us-ascii"

<html><body><p>Delivery has failed to these recipients or groups:</p></body></html>

--_001_EXCH01_--

--_000_EXCH01_
Content-Type: message/delivery-status

Reporting-MTA: dns;EXCH01.example.test
Received-From-MTA: dns;mx.acme.test
Arrival-Date: Mon, 5 Jan 2026 09:12:02 +0000

Final-Recipient: rfc822;jane.debtor@example.test
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not
 found by SMTP address lookup

--_000_EXCH01_
Content-Type: text/rfc822-headers

Received: from mx.acme.test (192.0.2.1) by EXCH01.example.test
From: Acme Collections <collections@acme.test>
To: Jane Debtor <jane.debtor@example.test>
Subject: Reminder: invoice RE-1 is overdue
Message-ID: <{CONTACT}@acme.test>
X-Overdue-Contact: {CONTACT}
MIME-Version: 1.0

--_000_EXCH01_--
""")

DELAYED = crlf(f"""\
From: MAILER-DAEMON@mx.acme.test (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: bounces@acme.test
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="DELAY"

--DELAY
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.acme.test. Your message is delayed.

--DELAY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.acme.test

Final-Recipient: rfc822; jane.debtor@example.test
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.example.test[192.0.2.7]:25:
    Connection timed out
Will-Retry-Until: Fri, 9 Jan 2026 10:12:01 +0100 (CET)

--DELAY
Content-Type: text/rfc822-headers

Message-ID: <{CONTACT}@acme.test>
Subject: Reminder: invoice RE-1 is overdue

--DELAY--
""")

NO_ORIGINAL_NO_STATUS = crlf("""\
From: MAILER-DAEMON@relay.example.test
To: bounces+c-77@acme.test
MIME-Version: 1.0
Content-Type: multipart/report; report-type="delivery-status"; boundary="b1"

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.test

Final-Recipient: rfc822; someone@example.test
Action: failed (bad destination mailbox address)
Diagnostic-Code: smtp; 554 mailbox disabled

--b1--
""")

MULTIPLE_RECIPIENTS = crlf(f"""\
From: MAILER-DAEMON@mx.acme.test
To: bounces@acme.test
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="m"

--m
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.acme.test

Final-Recipient: rfc822; accounts@example.test
Action: delivered
Status: 2.0.0

Final-Recipient: rfc822; jane.debtor@example.test
Action: failed
Status: 5.2.1
Diagnostic-Code: smtp; 550 5.2.1 mailbox disabled

--m
Content-Type: message/rfc822

Message-ID: <{CONTACT}@acme.test>
Subject: Reminder

Body.

--m--
""")

PLAIN_REPLY = crlf(f"""\
From: Jane Debtor <jane.debtor@example.test>
To: collections@acme.test
Subject: Re: Reminder: invoice RE-1 is overdue
In-Reply-To: <{CONTACT}@acme.test>
References: <{CONTACT}@acme.test>
Content-Type: text/plain; charset=utf-8

I paid this last week, see attached.
""")

AUTO_REPLY = crlf(f"""\
From: Jane Debtor <jane.debtor@example.test>
To: collections@acme.test
Subject: Out of office
Auto-Submitted: auto-replied
In-Reply-To: <{CONTACT}@acme.test>
Content-Type: text/plain

I am away until 12 January.
""")

READ_RECEIPT = crlf(f"""\
From: jane.debtor@example.test
To: collections@acme.test
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="r"

--r
Content-Type: message/disposition-notification

Reporting-UA: mail.example.test; Mailer
Final-Recipient: rfc822; jane.debtor@example.test
Original-Message-ID: <{CONTACT}@acme.test>
Disposition: manual-action/MDN-sent-manually; displayed

--r--
""")
