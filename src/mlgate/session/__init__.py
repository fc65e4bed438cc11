"""What a gate session leaves behind: the gate report, and on green the champion and its bundle."""
