"""The sender block: the company's name once, however its profile spells it."""

from dataclasses import replace

from services.notifier.rendering.samples import sample_document
from services.notifier.rendering.templates import Templates


def test_an_address_starting_with_the_company_name_prints_the_name_once(
    templates: Templates,
) -> None:
    document = sample_document("reminder", "en")
    creditor = document.creditor.model_copy(
        update={
            "legal_name": "ACME Supplies GmbH",
            "address": document.creditor.address.model_copy(
                update={"lines": ["ACME Supplies GmbH", "Industriestr. 5"]}
            ),
            "branding": document.creditor.branding.model_copy(
                update={"sender_name": "ACME Supplies GmbH", "signature": None}
            ),
        }
    )

    rendered = templates.render_email(replace(document, creditor=creditor))

    closing = rendered.text.split("Kind regards")[-1]
    assert closing.count("ACME Supplies GmbH") == 1
    assert "Industriestr. 5" in closing
