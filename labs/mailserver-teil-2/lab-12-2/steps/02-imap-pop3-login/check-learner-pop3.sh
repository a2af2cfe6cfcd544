#!/bin/bash
# On mail: the learner logged in by POP3 from partner, over TLS, and read a mail (kept once found).
check_learner_read pop3
