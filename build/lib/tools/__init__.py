"""What the graph calls outside itself: the Mirakl client and simulator, business API tools."""
