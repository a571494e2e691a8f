"""Image classifiers of the course on textcls's shared trainer."""
