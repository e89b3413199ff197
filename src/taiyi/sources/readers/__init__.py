"""Reader modules, one per format family. Each registers its readers with ``taiyi.sources.registry``."""
