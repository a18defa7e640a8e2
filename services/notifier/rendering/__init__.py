"""How a contact looks: templates, email composition, letter and statement PDFs."""
