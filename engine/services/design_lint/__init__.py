"""Validating .bpmn/.dmn files before they are deployed: what the designer's editor shows.

Import the module you need (``from engine.services.design_lint import validation``); this
package re-exports nothing.
"""
