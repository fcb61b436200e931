"""Speech: streaming recognition (Vosk), synthesis (pyttsx3/espeak-ng), voice activity."""
