"""Practice mode: an agent practises questions of their weak items; a Leitner schedule
brings back what they got wrong."""
