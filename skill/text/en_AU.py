"""Say what differs in Australian English; everything else is skill.text.en_US."""

from __future__ import annotations

EMERGENCY_CALL = "call triple zero"  # the emergency number, as people there say it
CLINICIAN_EXAMPLE = "your GP or a physio"
ESPEAK_LANGUAGE = "en"  # eSpeak NG's British English voice (it has no Australian or Indian one)

MODEL_SYNONYMS = {
    "ROUTINE": {
        "glutes": ("my bum muscles", "bum muscles"),
        "hamstrings": ("hammy", "hammys"),
        "top-of-shoulder": ("traps muscles", "trapezius muscle"),
    },
    "COMPLAINT": {
        "buttock": ("sore bum", "my bum hurts"),
        "stiff-neck": ("a crick in my neck",),
        "low-back-sitting": ("my back's crook", "crook back"),
    },
    "FEELING": {
        "better": ("heaps better", "a heap better", "pretty good"),
        "same": ("much the same", "not bad"),
        "sore": ("knackered", "a bit knackered", "pretty sore"),
    },
    "RECURRENCE": {"afternoons": ("every arvo", "each arvo", "arvos")},  # "arvo": the afternoon
}
MODEL_SAMPLES = {
    "StartRoutineIntent": ("give my {routine} a go", "have a go at my {routine}"),
}
