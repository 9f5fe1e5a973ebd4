"""agents/brains"""
