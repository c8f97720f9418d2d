"""The outside world turned into events: policy servers, log parsers, cloud audit exports."""
