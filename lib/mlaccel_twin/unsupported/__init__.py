"""Actions the twin does not implement, answered as AWS answers unknown operations."""
