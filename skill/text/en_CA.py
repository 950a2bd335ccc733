"""Say what differs in Canadian English; everything else is skill.text.en_US."""

from __future__ import annotations

EMERGENCY_CALL = "call nine one one"  # the emergency number, as people there say it
CLINICIAN_EXAMPLE = "your doctor or a physiotherapist"

MODEL_SYNONYMS = {
    "ROUTINE": {"hamstrings": ("hammy",)},
    "FEELING": {"better": ("way better",), "sore": ("pretty sore",)},
}
