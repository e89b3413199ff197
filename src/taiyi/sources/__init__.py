"""Sources: the dataset catalog and the readers that turn native files (PubTator, BioC, brat, IOB, CBLUE
JSON, QA JSON, dialogue, parallel text) into unified corpus records (``taiyi.corpus.schema``)."""
