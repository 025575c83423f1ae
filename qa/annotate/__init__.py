"""Entity (and, later, relation) annotations on passages, with character offsets."""
