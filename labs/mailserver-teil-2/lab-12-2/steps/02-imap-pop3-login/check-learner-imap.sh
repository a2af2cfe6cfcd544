#!/bin/bash
# On mail: the learner logged in by IMAP from partner, over TLS, and read a mail (kept once found).
check_learner_read imap
