"""Say what spoken text must cover and must never claim: the safety topics, medical claims.

Content rules, read where content is checked (`skill.core.validation`, the complaints
rules, the tests of every sentence), never at request time: compiling them is the only
work this module does, and a request needs none of it.
"""

from __future__ import annotations

import re

# The six general safety topics, and words that show a text covers them. The first-run
# safety briefing (speech.SAFETY_BRIEFING) covers them for every routine; routine files are
# checked for their area's danger zones instead (validation.AREA_SAFETY).
SAFETY_TOPICS = {
    "sharp pain": re.compile(r"sharp|shooting|electric", re.I),
    "numbness or tingling": re.compile(r"numb|tingl|pins and needles", re.I),
    "injured, bruised or inflamed areas": re.compile(r"injur|bruis|inflam|swollen", re.I),
    "moderate pressure": re.compile(r"moderate|out of ten|not maximal|never more", re.I),
    "a rest day for tender areas": re.compile(r"rest .*day|day or two|days? off", re.I),
    "checking with a clinician": re.compile(r"clinician|doctor|physio|health ?care", re.I),
}
MEDICAL_CLAIMS = re.compile(
    r"\b(cur(e|es|ed|ing)|heal(s|ed|ing)?|treat(s|ed|ing|ment)?|fix(es|ed|ing)?|diagnos\w*)\b", re.I
)
