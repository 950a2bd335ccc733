"""Say what differs in British English; everything else is skill.text.en_US."""

from __future__ import annotations

EMERGENCY_CALL = "call nine nine nine"  # the emergency number, as people there say it
CLINICIAN_EXAMPLE = "your GP or a physio"
ESPEAK_LANGUAGE = "en"  # eSpeak NG's British English voice

MODEL_SYNONYMS = {
    "ROUTINE": {
        "glutes": ("bottom", "my bottom", "bum muscles"),
        "hamstrings": ("hammy", "hamstring muscles"),
        "top-of-shoulder": ("traps muscles", "trapezius muscle"),
        "calves": ("calf muscle",),
    },
    "COMPLAINT": {
        "buttock": ("sore bum", "my bum hurts", "my bum aches"),
        "stiff-neck": ("a crick in my neck", "my neck's stiff"),
        "low-back-sitting": ("my back's killing me", "my back's playing up"),
    },
    "FEELING": {
        "better": ("loads better", "a lot looser"),
        "same": ("much the same", "not bad"),
        "sore": ("knackered", "a bit knackered", "a bit achy"),
    },
}
MODEL_SAMPLES = {
    "StartRoutineIntent": ("have a go at my {routine}", "sort out my {routine}"),
}

STORE_SUMMARY = "Hands-free, voice-guided self-massage routines with a ball or foam roller, for your back, neck, bum and legs."
