"""What can go wrong while rendering: every error is permanent; a retry won't help."""


class RenderingError(Exception):
    """Root of the rendering errors; the contact cannot be rendered as it stands."""


class TemplateNotFound(RenderingError):
    """No template of that name in any language, and no fallback applies."""


class NoPostalAddress(RenderingError):
    """A letter was asked for a debtor without a postal address."""


class InvalidBranding(RenderingError):
    """A `branding.yaml` cannot be read, or names a file outside its folder."""
