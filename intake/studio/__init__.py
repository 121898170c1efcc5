"""The form studio: coordinators start, edit, preview and publish forms in the browser.

The draft a coordinator edits is a FormVersion that respondents never see
(intake.storage.forms); `editing` changes its definition one step at a time and
validates every step with the engine, `conditions` and `constraints` turn the
builder's plain choices into the engine's expressions and back, `checks` says what
stops a draft from being published, `impact` what publishing changes for the data.
`views` and `forms` are the back-office pages (docs/form-studio.md).
"""
