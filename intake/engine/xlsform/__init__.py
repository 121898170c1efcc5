"""XLSForm import and export: the spreadsheet form format of ODK and KoboToolbox.

`read_xlsform` turns an .xlsx XLSForm into a raw definition in our own format
(docs/form-definitions.md), `load_xlsform` also validates it, and `write_xlsform`
turns a validated definition back into an XLSForm workbook. What is mapped, what is
left out with a notice and what is refused is documented for users in docs/xlsform.md.

The modules, in reading order: vocabulary (every sheet and column name), workbook
(the .xlsx file, its sheets and rows), settings, columns (what each column means and
the form's languages), choices, survey (rows -> fields, types), expressions, groups
(pages and names), importing (read and load) and export.
"""

from intake.engine.xlsform.export import write_xlsform
from intake.engine.xlsform.importing import load_xlsform, read_xlsform

__all__ = ["load_xlsform", "read_xlsform", "write_xlsform"]
