"""Say what differs in Indian English; everything else is skill.text.en_US."""

from __future__ import annotations

EMERGENCY_CALL = "call one one two"  # the emergency number, as people there say it
CLINICIAN_EXAMPLE = "your doctor or a physiotherapist"
ESPEAK_LANGUAGE = "en"  # eSpeak NG's British English voice (it has no Australian or Indian one)

# People here often say "waist" for the low back and "paining" for hurting.
MODEL_SYNONYMS = {
    "ROUTINE": {
        "lower-back": ("waist", "my waist", "lower waist"),
        "feet": ("foot sole", "sole", "feet soles"),
        "neck-and-skull": ("neck muscles",),
    },
    "COMPLAINT": {
        "headache": ("my head is paining", "head is paining", "head pain"),
        "stiff-neck": ("neck pain", "my neck is paining", "neck catch"),
        "low-back-sitting": ("waist pain", "my waist is paining", "my back is paining"),
    },
    "FEELING": {
        "better": ("little better", "feeling relaxed", "relaxed"),
        "sore": ("paining", "it is paining", "little bit sore", "still paining"),
    },
}
MODEL_SAMPLES = {
    "StartRoutineIntent": ("start {routine} routine", "I want to do {routine} routine",
                           "do {routine} exercise", "start {routine} exercise"),
}
