"""Comment understanding, answers and compliance for the live room."""
