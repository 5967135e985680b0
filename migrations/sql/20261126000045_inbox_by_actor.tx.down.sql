DROP INDEX inbox_items_actor;
